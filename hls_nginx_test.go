package main

// HLS through nginx's proxy_cache with proxy_cache_lock in front of
// rtmphub (the README's recipe, put into a temporary config):
// 200 Low-Latency HLS viewers doing blocking playlist reloads and part
// fetches through nginx, and rtmphub's own request counters showing it
// answered a few requests per part and per playlist version, not one
// per viewer.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// nginxShell is a throwaway nginx around the README's recipe, which is
// read from README.md (the nginx block) so that the recipe is what is
// tested.
const nginxShell = `daemon off;
master_process off;
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path {{DIR}}/body;
  proxy_temp_path {{DIR}}/proxy;
  fastcgi_temp_path {{DIR}}/fastcgi;
  uwsgi_temp_path {{DIR}}/uwsgi;
  scgi_temp_path {{DIR}}/scgi;
{{RECIPE}}
}
`

// readmeNginxRecipe returns the README's nginx block with the server's
// address, the listen address and the cache directory put in.
func readmeNginxRecipe(t *testing.T, upstream, listen, cacheDir string) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	must(t, err)
	_, rest, ok := strings.Cut(string(b), "```nginx\n")
	recipe, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no nginx block")
	}
	for _, want := range []string{"server 127.0.0.1:8000;", "listen 80;", "/var/cache/nginx/hls"} {
		if !strings.Contains(recipe, want) {
			t.Fatalf("README's nginx recipe has no %q", want)
		}
	}
	return strings.NewReplacer("server 127.0.0.1:8000;", "server "+upstream+";", "listen 80;", "listen "+listen+";",
		"/var/cache/nginx/hls", cacheDir).Replace(recipe)
}

// startNginx runs nginx with the recipe in front of upstream and returns
// its address.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nginx"); err2 != nil {
			skipOrRequire(t, "RTMPHUB_REQUIRE_NGINX", "nginx", "apt-get install nginx-light")
		}
		bin = "/usr/sbin/nginx"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	listen := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	recipe := readmeNginxRecipe(t, upstream, listen, filepath.Join(dir, "cache"))
	conf := strings.NewReplacer("{{DIR}}", dir, "{{RECIPE}}", recipe).Replace(nginxShell)
	must(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600))
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if b, _ := os.ReadFile(filepath.Join(dir, "error.log")); len(b) > 0 {
			t.Logf("nginx error.log:\n%s", b)
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			return listen
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not start listening")
		}
	}
}

// cachedViewer is one LL-HLS viewer behind the cache.
type cachedViewer struct {
	c       *http.Client
	media   string          // the media playlist URL (with its query)
	fetched map[string]bool // part URIs fetched (without query)
	asked   map[string]bool // the blocking reloads' msn/part
	waits   []time.Duration // blocking reload answer times
	late    int             // parts fetched from before the last two segments
	err     error
}

// get GETs url and returns its body; any answer but a 200 is an error
// (the caller then stops).
func (v *cachedViewer) get(url string) ([]byte, error) {
	resp, err := v.c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, err
}

// play follows the playlist until end: it starts with the parts of the
// first playlist's last two segments, then, after each blocking reload for
// the next part, fetches every part listed from its start on that it has
// not fetched yet, as a player does. (Looking only at the last two
// segments of every playlist, a viewer whose reload came back more than a
// segment late, as under the race detector with 200 viewers, skipped a
// part the playlist still listed: that measured the viewer, not the
// server.) late counts the parts fetched from before the last two
// segments.
func (v *cachedViewer) play(end time.Time) {
	base := v.media[:strings.LastIndex(v.media, "/")+1]
	b, err := v.get(v.media)
	from := uint64(0) // the first segment it plays
	for first := true; err == nil && time.Now().Before(end); first = false {
		var pl *m3u8Media
		if pl, err = parseMediaPlaylist(string(b)); err != nil {
			break
		}
		if first {
			from = pl.segs[max(0, len(pl.segs)-2)].msn
		}
		for i, s := range pl.segs {
			for _, p := range s.parts {
				if u := stripQuery(p.uri); !v.fetched[u] && err == nil && s.msn >= from {
					v.fetched[u] = true
					_, err = v.get(base + p.uri)
					v.late += min(1, max(0, len(pl.segs)-2-i))
				}
			}
		}
		last := pl.segs[len(pl.segs)-1]
		msn, part := last.msn, len(last.parts)
		if last.uri != "" && len(last.parts) == 0 {
			msn, part = msn+1, 0
		}
		v.asked[fmt.Sprint(msn, "/", part)] = true
		start := time.Now()
		b, err = v.get(fmt.Sprintf("%s&_HLS_msn=%d&_HLS_part=%d", v.media, msn, part))
		v.waits = append(v.waits, time.Since(start))
	}
	if err != nil {
		v.err = err
	}
}

func TestHLSThroughNginxCache(t *testing.T) {
	srv := startServer(t, nil)
	proxy := startNginx(t, srv.HTTPAddr())
	pacedPublisher(t, srv, "/live/cdn", 33*time.Millisecond, func(i int) bool { return i%30 == 0 })
	waitLive(t, srv, "live", "cdn")

	const viewers = 200
	tr := &http.Transport{MaxIdleConnsPerHost: viewers, MaxConnsPerHost: viewers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	first := &cachedViewer{c: client}
	multi, err := first.get("http://" + proxy + "/live/cdn.m3u8")
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(multi)), "\n")
	before := srv.hls.requestCounts()

	var wg sync.WaitGroup
	vs := make([]*cachedViewer, viewers)
	end := time.Now().Add(6 * time.Second)
	for i := range vs {
		vs[i] = &cachedViewer{c: client, fetched: map[string]bool{}, asked: map[string]bool{}}
		wg.Add(1)
		go func(v *cachedViewer) {
			defer wg.Done()
			b, err := v.get("http://" + proxy + "/live/cdn.m3u8")
			if err != nil {
				v.err = err
				return
			}
			ls := strings.Split(strings.TrimSpace(string(b)), "\n")
			v.media = "http://" + proxy + "/live/" + ls[len(ls)-1]
			v.play(end)
		}(vs[i])
	}
	wg.Wait()
	after := srv.hls.requestCounts()
	checkCachedViewers(t, vs, lines[len(lines)-1], before, after)
}

// checkCachedViewers wants every viewer to have played without an error
// and with every part, and rtmphub to have answered a few requests per
// part and per playlist version.
func checkCachedViewers(t *testing.T, vs []*cachedViewer, variant string, before, after map[string]uint64) {
	t.Helper()
	parts, asked := map[string]bool{}, map[string]bool{}
	var waits []time.Duration
	late := 0
	for i, v := range vs {
		if v.err != nil {
			t.Fatalf("viewer %d: %v", i, v.err)
		}
		for u := range v.fetched {
			parts[u] = true
		}
		for k := range v.asked {
			asked[k] = true
		}
		waits = append(waits, v.waits...)
		late += v.late
	}
	// every viewer has every part from its first one to its last (none
	// missed)
	for i, v := range vs {
		lo, hi := -1, -1
		for u := range v.fetched {
			var id int
			fmt.Sscanf(u[strings.LastIndex(u, "/")+1:], "part%d.m4s", &id)
			if lo < 0 || id < lo {
				lo = id
			}
			hi = max(hi, id)
		}
		if len(v.fetched) == 0 || len(v.fetched) != hi-lo+1 {
			t.Fatalf("viewer %d fetched %d parts, numbered %d to %d (%d late; reloads waited up to %v)",
				i, len(v.fetched), lo, hi, v.late, slices.Max(append(v.waits, 0)))
		}
	}
	n := func(kind string) uint64 { return after[kind] - before[kind] }
	versions := uint64(len(asked)) // the playlist versions the viewers asked for
	t.Logf("variant %s; %d viewers: %d parts, %d playlist versions; rtmphub answered %v (before %v)",
		variant, len(vs), len(parts), versions, after, before)
	slices.Sort(waits)
	t.Logf("blocking reload through the cache: median %v, p90 %v, max %v; %d parts fetched late (before the last two segments)",
		waits[len(waits)/2], waits[len(waits)*9/10], waits[len(waits)-1], late)
	if n("part") > 3*uint64(len(parts)) {
		t.Errorf("rtmphub answered %d part requests for %d parts", n("part"), len(parts))
	}
	if n("blocking_playlist") > 3*versions {
		t.Errorf("rtmphub answered %d blocking playlist requests for %d versions", n("blocking_playlist"), versions)
	}
	if n("playlist") > 3*7 { // the multivariant and the live playlist, kept a second each, for 6 s
		t.Errorf("rtmphub answered %d playlist requests for %d viewers", n("playlist"), len(vs))
	}
}
