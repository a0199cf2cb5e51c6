module github.com/acme/go-library

go 1.21
