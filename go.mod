module rtmphub

go 1.24
