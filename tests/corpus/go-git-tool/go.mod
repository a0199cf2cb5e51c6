module github.com/acme/go-git-tool

go 1.22
