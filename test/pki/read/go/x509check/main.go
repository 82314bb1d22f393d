// x509check: the verdict of Go's crypto/x509 on DER certificates, one JSON line per file.
// CockroachDB's loader (pkg/security PEMToCertificates) calls x509.ParseCertificate on each PEM
// block's bytes; this does the same on each file's bytes. Files come from the arguments, or one
// path a line on stdin when there are none. An argument `cert.der=key.pem` also loads the pair
// with tls.X509KeyPair, as CockroachDB loads a certificate and its key.
package main

import (
	"bufio"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"
)

type result struct {
	File              string   `json:"file"`
	OK                bool     `json:"ok"`
	Error             string   `json:"error"`
	UnhandledCritical bool     `json:"unhandledCritical"`
	DNS               []string `json:"dns"`
	IPs               []string `json:"ips"`
	URIs              []string `json:"uris"`
	Emails            []string `json:"emails"`
	NotBefore         string   `json:"notBefore"`
	NotAfter          string   `json:"notAfter"`
	Serial            string   `json:"serial"`
	Version           int      `json:"version"`
	CN                string   `json:"cn"`
	KeyBits           int      `json:"keyBits"`
	Subject           string   `json:"subject"`
	Issuer            string   `json:"issuer"`
	KeyUsage          int      `json:"keyUsage"`
	ExtKeyUsage       []string `json:"extKeyUsage"`
	BasicConstraints  bool     `json:"basicConstraints"`
	IsCA              bool     `json:"isCA"`
	MaxPathLen        int      `json:"maxPathLen"`
	PublicKeyAlgo     string   `json:"publicKeyAlgorithm"`
	SignatureAlgo     string   `json:"signatureAlgorithm"`
	SubjectKeyID      string   `json:"subjectKeyId"`
	AuthorityKeyID    string   `json:"authorityKeyId"`
	KeyPair           string   `json:"keyPair,omitempty"`
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageServerAuth: "serverAuth",
	x509.ExtKeyUsageClientAuth: "clientAuth",
}

func check(arg string) result {
	file, keyFile, withKey := strings.Cut(arg, "=")
	r := result{File: file, DNS: []string{}, IPs: []string{}, URIs: []string{}, Emails: []string{}, ExtKeyUsage: []string{}}
	der, err := os.ReadFile(file)
	if err != nil {
		r.Error = "read: " + err.Error()
		return r
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.OK = true
	r.UnhandledCritical = len(cert.UnhandledCriticalExtensions) > 0
	r.DNS = append(r.DNS, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		r.IPs = append(r.IPs, ip.String())
	}
	for _, u := range cert.URIs {
		r.URIs = append(r.URIs, u.String())
	}
	r.Emails = append(r.Emails, cert.EmailAddresses...)
	r.NotBefore = cert.NotBefore.UTC().Format(time.RFC3339)
	r.NotAfter = cert.NotAfter.UTC().Format(time.RFC3339)
	if cert.SerialNumber != nil {
		r.Serial = strings.ToUpper(cert.SerialNumber.Text(16))
	}
	r.Version = cert.Version
	r.CN = cert.Subject.CommonName
	if k, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		r.KeyBits = k.N.BitLen()
	}
	r.Subject = cert.Subject.String()
	r.Issuer = cert.Issuer.String()
	r.KeyUsage = int(cert.KeyUsage)
	for _, u := range cert.ExtKeyUsage {
		name, ok := extKeyUsageNames[u]
		if !ok {
			name = fmt.Sprint(int(u))
		}
		r.ExtKeyUsage = append(r.ExtKeyUsage, name)
	}
	r.BasicConstraints = cert.BasicConstraintsValid
	r.IsCA = cert.IsCA
	r.MaxPathLen = cert.MaxPathLen
	r.PublicKeyAlgo = cert.PublicKeyAlgorithm.String()
	r.SignatureAlgo = cert.SignatureAlgorithm.String()
	r.SubjectKeyID = hex.EncodeToString(cert.SubjectKeyId)
	r.AuthorityKeyID = hex.EncodeToString(cert.AuthorityKeyId)
	if withKey {
		keyPEM, err := os.ReadFile(keyFile)
		if err == nil {
			_, err = tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM)
		}
		r.KeyPair = "ok"
		if err != nil {
			r.KeyPair = err.Error()
		}
	}
	return r
}

func main() {
	files := os.Args[1:]
	if len(files) == 0 {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				files = append(files, line)
			}
		}
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for _, f := range files {
		if err := enc.Encode(check(f)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
