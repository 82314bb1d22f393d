module certgen/goracle

go 1.19
