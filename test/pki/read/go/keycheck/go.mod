module certgen/keycheck

go 1.19
