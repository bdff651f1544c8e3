package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"

	"github.com/godbus/dbus/v5"
)

// ssAlgorithm is the Secret Service's encrypted transfer: Diffie-Hellman in
// the 1024-bit MODP group of RFC 2409 (the "Second Oakley Group"), the
// shared secret padded to the prime's length, HKDF-SHA256 with no salt and
// no info to a 16-byte key, AES-128-CBC with PKCS#7 padding and the IV in
// the Secret's parameters. (Secret Service API, "Transfer of Secrets".)
const ssAlgorithm = "dh-ietf1024-sha256-aes128-cbc-pkcs7"

// ietf1024 is the prime of RFC 2409 section 6.2; the generator is 2.
var ietf1024, _ = new(big.Int).SetString(
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
		"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)

// ssSession is an open Secret Service session and its AES key.
type ssSession struct {
	path dbus.ObjectPath
	key  []byte
}

// openSSSession negotiates an encrypted session.
func openSSSession(c ssConn) (*ssSession, error) {
	priv, pub, err := dhKeyPair()
	if err != nil {
		return nil, err
	}
	var out dbus.Variant
	var path dbus.ObjectPath
	if err := c.call(ssPath, ssService+".OpenSession", ssAlgorithm, dbus.MakeVariant(pub)).Store(&out, &path); err != nil {
		return nil, err
	}
	peer, ok := out.Value().([]byte)
	if !ok {
		return nil, errors.New("the Secret Service answered the session key exchange with something other than bytes")
	}
	key, err := dhKey(priv, peer)
	if err != nil {
		return nil, err
	}
	return &ssSession{path: path, key: key}, nil
}

// dhKeyPair makes a private exponent and its public value.
func dhKeyPair() (priv *big.Int, pub []byte, err error) {
	// 2 <= priv < p-1
	max := new(big.Int).Sub(ietf1024, big.NewInt(3))
	priv, err = rand.Int(rand.Reader, max)
	if err != nil {
		return nil, nil, err
	}
	priv.Add(priv, big.NewInt(2))
	return priv, new(big.Int).Exp(big.NewInt(2), priv, ietf1024).Bytes(), nil
}

// dhKey derives the AES key from the peer's public value.
func dhKey(priv *big.Int, peerPub []byte) ([]byte, error) {
	y := new(big.Int).SetBytes(peerPub)
	pm1 := new(big.Int).Sub(ietf1024, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
		return nil, errors.New("the Secret Service sent an invalid Diffie-Hellman public value")
	}
	shared := make([]byte, (ietf1024.BitLen()+7)/8)
	new(big.Int).Exp(y, priv, ietf1024).FillBytes(shared)
	return hkdf.Key(sha256.New, shared, nil, "", 16)
}

// seal encrypts plain for the service.
func (s *ssSession) seal(plain []byte) (ssSecret, error) {
	block, err := aes.NewCipher(s.key)
	if err != nil {
		return ssSecret{}, err
	}
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return ssSecret{}, err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return ssSecret{Session: s.path, Parameters: iv, Value: buf, ContentType: "application/json"}, nil
}

// open decrypts a secret the service sent.
func (s *ssSession) open(sec ssSecret) ([]byte, error) {
	if len(sec.Parameters) != aes.BlockSize || len(sec.Value) == 0 || len(sec.Value)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("the Secret Service sent a secret of %d bytes with a %d-byte IV: not %s", len(sec.Value), len(sec.Parameters), ssAlgorithm)
	}
	block, err := aes.NewCipher(s.key)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, len(sec.Value))
	cipher.NewCBCDecrypter(block, sec.Parameters).CryptBlocks(buf, sec.Value)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errors.New("the Secret Service sent a secret that does not decrypt (bad padding)")
	}
	good := 1
	for _, b := range buf[len(buf)-pad:] {
		good &= subtle.ConstantTimeByteEq(b, byte(pad))
	}
	if good != 1 {
		return nil, errors.New("the Secret Service sent a secret that does not decrypt (bad padding)")
	}
	return buf[:len(buf)-pad], nil
}
