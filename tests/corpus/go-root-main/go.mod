module github.com/acme/go-root-main

go 1.21
