module example.com/acme/go-tcp-service

go 1.22
