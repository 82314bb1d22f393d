module certgen/peer

go 1.19
