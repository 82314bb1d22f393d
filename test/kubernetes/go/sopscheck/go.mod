module certgen/sopscheck

go 1.19
