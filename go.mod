module rtmphub

go 1.26
