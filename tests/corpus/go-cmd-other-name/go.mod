module example.org/platform/kvstore

go 1.23
