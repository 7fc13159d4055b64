package live

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// TLSFiles names the PEM files of mutual TLS. With them every connection,
// peer or client, is TLS 1.3 and both ends must show a certificate signed by
// the CA: the server requires and verifies the client's
// (tls.RequireAndVerifyClientCert) and the client verifies the server's
// against the same CA, including its name.
//
// These are the files behind the command line's --tls-ca, --tls-cert and
// --tls-key flags:
//
//   - CA: the certificate(s) of the authority trusted for peers and clients;
//   - Cert: this process's certificate, signed by that authority. It must name,
//     as a DNS or IP subject alternative name, every host that peers and
//     clients dial this node by ("127.0.0.1" or "localhost" for a local
//     cluster), and allow both server and client authentication, since a node
//     is both. A node's certificate must also name the node itself ("n2"),
//     as its subject's common name or a DNS name: that is how a peer knows
//     whom it talks to, and a peer whose certificate names another node (or
//     none: a client's) is refused, whatever ID it claims;
//   - Key: the private key of Cert.
//
// CertAuthority makes such files for a test cluster.
type TLSFiles struct {
	CA, Cert, Key string
}

// loadTLS reads the files: the CA pool and this process's key pair.
func (f *TLSFiles) load() (*x509.CertPool, tls.Certificate, error) {
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		return nil, tls.Certificate{}, errors.New("live: TLS needs all three files: CA, certificate and key")
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("live: TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("live: TLS CA file %s: no PEM certificate in it", f.CA)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("live: TLS certificate %s with key %s: %w", f.Cert, f.Key, err)
	}
	return pool, cert, nil
}

// serverConfig is the TLS configuration of the listening side.
func (f *TLSFiles) serverConfig() (*tls.Config, error) {
	pool, cert, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// clientConfig is the TLS configuration of the dialing side. The server name
// to verify comes from the address dialed.
func (f *TLSFiles) clientConfig() (*tls.Config, error) {
	pool, cert, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}, nil
}

// CertAuthority is a certificate authority held in memory, to issue the
// files of a test cluster (tests, `synod cluster --tls`). It is not meant to
// guard anything that matters: its key is never saved.
type CertAuthority struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

// NewCertAuthority creates a self-signed ECDSA P-256 authority named name,
// valid for a year.
func NewCertAuthority(name string) (*CertAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("live: CA key: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("live: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("live: CA certificate: %w", err)
	}
	return &CertAuthority{cert: cert, der: der, key: key}, nil
}

// Issue writes into dir the authority's certificate (ca.pem) and a key pair
// for name (name.pem, name-key.pem, the key readable by the owner only),
// valid for server and client authentication on the given hosts (IP
// addresses or DNS names), and returns their paths. name is the subject's
// common name: a node's name ("n2") for a node, anything else for a client.
func (ca *CertAuthority) Issue(dir, name string, hosts ...string) (*TLSFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("live: key for %s: %w", name, err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("live: certificate for %s: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("live: key for %s: %w", name, err)
	}
	files := &TLSFiles{
		CA:   filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, name+".pem"),
		Key:  filepath.Join(dir, name+"-key.pem"),
	}
	for _, w := range []struct {
		path, kind string
		der        []byte
		mode       os.FileMode
	}{
		{files.CA, "CERTIFICATE", ca.der, 0o644},
		{files.Cert, "CERTIFICATE", der, 0o644},
		{files.Key, "PRIVATE KEY", keyDER, 0o600},
	} {
		data := pem.EncodeToMemory(&pem.Block{Type: w.kind, Bytes: w.der})
		if err := os.WriteFile(w.path, data, w.mode); err != nil {
			return nil, fmt.Errorf("live: write %s: %w", w.path, err)
		}
	}
	return files, nil
}

func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("live: certificate serial: %w", err)
	}
	return n, nil
}

// verifyPeerIdentity checks that the certificate a TLS peer showed names
// node id (its common name or a DNS name is "n2"); a connection without TLS
// has nothing to check.
func verifyPeerIdentity(conn net.Conn, id node.ID) error {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return nil
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return errors.New("it showed no certificate")
	}
	c, want := certs[0], id.String()
	if c.Subject.CommonName == want || slices.Contains(c.DNSNames, want) {
		return nil
	}
	return fmt.Errorf("its certificate names %q (common name) and %q (DNS names), not %s", c.Subject.CommonName, c.DNSNames, want)
}
