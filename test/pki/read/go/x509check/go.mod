module certgen/x509check

go 1.19
