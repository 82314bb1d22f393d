// sopscheck decrypts a SOPS document the way getsops/sops does (aes/cipher.go, sops.go Tree.Decrypt),
// written independently of certgen with Go's crypto: each ENC[AES256_GCM,…] value with AES-GCM
// (the IV's length as nonce size) and its path as additional data, and the MAC, SHA-512 over every
// value in document order, checked against the stored one decrypted with lastmodified as
// additional data. Input, one JSON request a line: {"key": base64 data key, "lastmodified": "…",
// "mac": "ENC[…]", "regex": "…", "leaves": [{"path": [...], "value": "…"}]}. Output: {"ok": true,
// "values": {"a:b:": "plaintext"}} or {"ok": false, "error": "…"}.
package main

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

type leaf struct {
	Path  []string `json:"path"`
	Value string   `json:"value"`
}

type request struct {
	Key          []byte `json:"key"`
	LastModified string `json:"lastmodified"`
	Mac          string `json:"mac"`
	Regex        string `json:"regex"`
	Leaves       []leaf `json:"leaves"`
}

type answer struct {
	OK     bool              `json:"ok"`
	Error  string            `json:"error,omitempty"`
	Values map[string]string `json:"values,omitempty"`
}

var enc = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

func decrypt(value string, key []byte, aad string) (string, error) {
	m := enc.FindStringSubmatch(value)
	if m == nil {
		return "", fmt.Errorf("not a SOPS value: %.40s", value)
	}
	if m[4] != "str" {
		return "", fmt.Errorf("type %s", m[4])
	}
	var parts [3][]byte
	for i := 0; i < 3; i++ {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return "", err
		}
		parts[i] = b
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(parts[1]))
	if err != nil {
		return "", err
	}
	plain, err := gcm.Open(nil, parts[1], append(parts[0], parts[2]...), []byte(aad))
	if err != nil {
		return "", fmt.Errorf("at %q: %v", aad, err)
	}
	return string(plain), nil
}

func check(q request) answer {
	re, err := regexp.Compile(q.Regex)
	if err != nil {
		return answer{Error: err.Error()}
	}
	h := sha512.New()
	values := map[string]string{}
	for _, l := range q.Leaves {
		encrypted := false
		for _, p := range l.Path {
			if re.MatchString(p) {
				encrypted = true
			}
		}
		v := l.Value
		aad := strings.Join(l.Path, ":") + ":"
		if encrypted {
			if v, err = decrypt(l.Value, q.Key, aad); err != nil {
				return answer{Error: err.Error()}
			}
			values[aad] = v
		}
		h.Write([]byte(v))
	}
	mac, err := decrypt(q.Mac, q.Key, q.LastModified)
	if err != nil {
		return answer{Error: "mac: " + err.Error()}
	}
	if got := fmt.Sprintf("%X", h.Sum(nil)); got != mac {
		return answer{Error: fmt.Sprintf("MAC mismatch: computed %s, stored %s", got, mac)}
	}
	return answer{OK: true, Values: values}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var q request
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			out.Encode(answer{Error: err.Error()})
			continue
		}
		out.Encode(check(q))
	}
}
