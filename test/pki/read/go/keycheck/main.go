// keycheck: Go's verdict on private keys, key pairs and signatures, one JSON request a line on
// stdin and one JSON answer a line on stdout. Keys are parsed as crypto/tls and CockroachDB's
// security.PEMToPrivateKey parse them (PKCS#1, then PKCS#8, then SEC1, whatever the block type);
// "pair" is tls.X509KeyPair; "sig" is x509.Certificate.CheckSignatureFrom.
package main

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

type request struct {
	Op   string `json:"op"`
	Key  string `json:"key"`  // PEM key file (key, pair)
	Cert string `json:"cert"` // PEM certificate file (pair, sig)
	CA   string `json:"ca"`   // PEM certificate file (sig)
}

type answer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// key: what Go found, the SPKI of its public half, and how Go would write the key.
	Type   string `json:"type,omitempty"`
	Bits   int    `json:"bits,omitempty"`
	Curve  string `json:"curve,omitempty"`
	SPKI   []byte `json:"spki,omitempty"`
	Native []byte `json:"native,omitempty"` // PKCS#1 / SEC1 / PKCS#8 DER, as cockroach and certgen write PEM
	PKCS8  []byte `json:"pkcs8,omitempty"`
	// sig: the certificate's signature algorithm, as Go names it.
	SigAlg string `json:"sigAlg,omitempty"`
}

// parsePrivateKey is crypto/tls's (and pkg/security's) own.
func parsePrivateKey(der []byte) (crypto.PrivateKey, error) {
	if key, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		switch key := key.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return key, nil
		default:
			return nil, errors.New("tls: found unknown private key type in PKCS#8 wrapping")
		}
	}
	if key, err := x509.ParseECPrivateKey(der); err == nil {
		return key, nil
	}
	return nil, errors.New("tls: failed to parse private key")
}

// firstKeyBlock is how tls.X509KeyPair finds the key: the first block whose type is PRIVATE KEY
// or ends in " PRIVATE KEY".
func firstKeyBlock(data []byte) (*pem.Block, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("tls: failed to find any PEM data in key input")
		}
		if b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") {
			return b, nil
		}
	}
}

func describe(key crypto.PrivateKey) answer {
	a := answer{OK: true}
	var pub crypto.PublicKey
	var err error
	switch k := key.(type) {
	case *rsa.PrivateKey:
		a.Type, a.Bits, pub = "rsa", k.N.BitLen(), &k.PublicKey
		a.Native = x509.MarshalPKCS1PrivateKey(k)
	case *ecdsa.PrivateKey:
		a.Type, a.Curve, pub = "ec", k.Curve.Params().Name, &k.PublicKey
		if a.Native, err = x509.MarshalECPrivateKey(k); err != nil {
			return answer{Error: err.Error()}
		}
	case ed25519.PrivateKey:
		a.Type, pub = "ed25519", k.Public()
		if a.Native, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
			return answer{Error: err.Error()}
		}
	}
	if a.SPKI, err = x509.MarshalPKIXPublicKey(pub); err != nil {
		return answer{Error: err.Error()}
	}
	if a.PKCS8, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
		return answer{Error: err.Error()}
	}
	return a
}

func firstCert(file string) (*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM data")
	}
	return x509.ParseCertificate(b.Bytes)
}

func run(r request) answer {
	switch r.Op {
	case "key":
		data, err := os.ReadFile(r.Key)
		if err != nil {
			return answer{Error: err.Error()}
		}
		b, err := firstKeyBlock(data)
		if err != nil {
			return answer{Error: err.Error()}
		}
		key, err := parsePrivateKey(b.Bytes)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return describe(key)
	case "pair":
		_, err := tls.LoadX509KeyPair(r.Cert, r.Key)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{OK: true}
	case "sig":
		c, err := firstCert(r.Cert)
		if err != nil {
			return answer{Error: err.Error()}
		}
		ca, err := firstCert(r.CA)
		if err != nil {
			return answer{Error: err.Error()}
		}
		if err := c.CheckSignatureFrom(ca); err != nil {
			return answer{Error: err.Error(), SigAlg: c.SignatureAlgorithm.String()}
		}
		return answer{OK: true, SigAlg: c.SignatureAlgorithm.String()}
	}
	return answer{Error: "unknown op " + r.Op}
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
		if err := enc.Encode(run(r)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
