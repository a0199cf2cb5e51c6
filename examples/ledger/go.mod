module example.com/acme/ledger

go 1.22
