module example.com/acme/go-service-cmd

go 1.22
