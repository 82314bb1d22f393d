// peer: a CockroachDB-like Go peer for test/integration/key-types.test.ts. One JSON request a line
// on stdin, one JSON answer a line on stdout.
//
//	load: every certificate of cert (x509.ParseCertificate on each PEM block), the pair
//	      tls.LoadX509KeyPair(cert, key) when key is given, and the DER PKCS#8 file pk8
//	      (x509.ParsePKCS8PrivateKey) when given, which must be the same key as the PEM one.
//	mtls: a TLS server on 127.0.0.1 (a free port) with serverCert/serverKey that requires and
//	      verifies a client certificate against serverCA (as a CockroachDB node does), and a client
//	      that presents clientCert/clientKey and verifies the server against clientCA as
//	      serverName; at most TLS version "1.2" or "1.3". Each side reports the other's CN; the
//	      client sends a line and reads the server's answer.
package main

import (
	"bufio"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

type request struct {
	Op string `json:"op"`
	// load
	Cert string `json:"cert"`
	Key  string `json:"key"`
	PK8  string `json:"pk8"`
	// mtls
	ServerCert string `json:"serverCert"`
	ServerKey  string `json:"serverKey"`
	ServerCA   string `json:"serverCA"`
	ClientCert string `json:"clientCert"`
	ClientKey  string `json:"clientKey"`
	ClientCA   string `json:"clientCA"`
	ServerName string `json:"serverName"`
	MaxVersion string `json:"maxVersion"`
}

type certFacts struct {
	PublicKeyAlgorithm string `json:"publicKeyAlgorithm"`
	SignatureAlgorithm string `json:"signatureAlgorithm"`
	CN                 string `json:"cn"`
	IsCA               bool   `json:"isCA"`
}

type answer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// load
	Certs []certFacts `json:"certs,omitempty"`
	// The private key's Go type (*rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey).
	KeyType string `json:"keyType,omitempty"`
	// mtls
	Version        string `json:"version,omitempty"`
	ServerSawCN    string `json:"serverSawCN,omitempty"`
	ClientSawCN    string `json:"clientSawCN,omitempty"`
	ServerError    string `json:"serverError,omitempty"`
	ClientReceived string `json:"clientReceived,omitempty"`
}

func certs(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: a %s block", file, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no certificate", file)
	}
	return out, nil
}

func load(r request) answer {
	cs, err := certs(r.Cert)
	if err != nil {
		return answer{Error: err.Error()}
	}
	a := answer{OK: true}
	for _, c := range cs {
		a.Certs = append(a.Certs, certFacts{c.PublicKeyAlgorithm.String(), c.SignatureAlgorithm.String(), c.Subject.CommonName, c.IsCA})
	}
	if r.Key == "" {
		return a
	}
	pair, err := tls.LoadX509KeyPair(r.Cert, r.Key)
	if err != nil {
		return answer{Error: "tls.LoadX509KeyPair: " + err.Error()}
	}
	a.KeyType = fmt.Sprintf("%T", pair.PrivateKey)
	if r.PK8 == "" {
		return a
	}
	der, err := os.ReadFile(r.PK8)
	if err != nil {
		return answer{Error: err.Error()}
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return answer{Error: "x509.ParsePKCS8PrivateKey: " + err.Error()}
	}
	if !k.(interface{ Equal(crypto.PrivateKey) bool }).Equal(pair.PrivateKey) {
		return answer{Error: "the .pk8 holds another key than the PEM key"}
	}
	return a
}

func pool(file string) (*x509.CertPool, error) {
	cs, err := certs(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p, nil
}

func peerCN(s tls.ConnectionState) string {
	if len(s.PeerCertificates) == 0 {
		return ""
	}
	return s.PeerCertificates[0].Subject.CommonName
}

func mtls(r request) answer {
	serverPair, err := tls.LoadX509KeyPair(r.ServerCert, r.ServerKey)
	if err != nil {
		return answer{Error: "server pair: " + err.Error()}
	}
	clientPair, err := tls.LoadX509KeyPair(r.ClientCert, r.ClientKey)
	if err != nil {
		return answer{Error: "client pair: " + err.Error()}
	}
	serverCAs, err := pool(r.ServerCA)
	if err != nil {
		return answer{Error: err.Error()}
	}
	clientCAs, err := pool(r.ClientCA)
	if err != nil {
		return answer{Error: err.Error()}
	}
	max := uint16(tls.VersionTLS13)
	if r.MaxVersion == "1.2" {
		max = tls.VersionTLS12
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    serverCAs,
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   max,
	})
	if err != nil {
		return answer{Error: err.Error()}
	}
	defer ln.Close()
	type served struct {
		cn  string
		err error
	}
	done := make(chan served, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- served{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		t := c.(*tls.Conn)
		if err := t.Handshake(); err != nil {
			done <- served{err: err}
			return
		}
		line, err := bufio.NewReader(t).ReadString('\n')
		if err != nil {
			done <- served{err: err}
			return
		}
		cn := peerCN(t.ConnectionState())
		_, err = fmt.Fprintf(t, "hello %s, you said %s", cn, line)
		done <- served{cn: cn, err: err}
	}()
	a := answer{}
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{
		Certificates: []tls.Certificate{clientPair},
		RootCAs:      clientCAs,
		ServerName:   r.ServerName,
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   max,
	})
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		s := c.ConnectionState()
		a.ClientSawCN = peerCN(s)
		a.Version = map[uint16]string{tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}[s.Version]
		if _, err = fmt.Fprintln(c, "ping"); err == nil {
			var buf []byte
			buf, err = readAll(c)
			a.ClientReceived = string(buf)
		}
		c.Close()
	} else {
		// Unblock a server still waiting in Accept or in its handshake.
		ln.Close()
	}
	s := <-done
	a.ServerSawCN = s.cn
	if s.err != nil {
		a.ServerError = s.err.Error()
	}
	if err != nil {
		a.Error = err.Error()
	} else if s.err != nil {
		a.Error = "server: " + s.err.Error()
	} else {
		a.OK = true
	}
	return a
}

func readAll(c *tls.Conn) ([]byte, error) {
	var out []byte
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil // the server closed after its answer
			}
			return out, err
		}
	}
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var r request
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var a answer
		switch r.Op {
		case "load":
			a = load(r)
		case "mtls":
			a = mtls(r)
		default:
			a = answer{Error: "unknown op " + r.Op}
		}
		if err := enc.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
