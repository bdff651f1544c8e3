package keystore

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
)

var (
	reKeyID  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	reSecret = regexp.MustCompile(`^[\x21-\x7e]{8,128}$`)
)

// ParseKeyInput reads an access key id and secret from what `keys add`
// gets on stdin (or a systemd credential holds):
//   - two lines: the key id, then the secret;
//   - the JSON of `aws iam create-access-key` ({"AccessKey": {...}}), or
//     an object with AccessKeyId and SecretAccessKey;
//   - the CSV the IAM console downloads ("Access key ID,Secret access key").
//
// Errors never quote the secret.
func ParseKeyInput(data []byte) (accessKeyID, secret string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.TrimSpace(string(data))
	switch {
	case text == "":
		return "", "", errors.New("no key given: expected the access key id and the secret access key")
	case strings.HasPrefix(text, "{"):
		accessKeyID, secret, err = parseJSON(text)
	case strings.Contains(strings.ToLower(firstLine(text)), "access key id"):
		accessKeyID, secret, err = parseCSV(text)
	default:
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) != 2 {
			return "", "", errors.New("expected two lines, the access key id and then the secret access key (or the JSON of `aws iam create-access-key`)")
		}
		accessKeyID, secret = lines[0], lines[1]
	}
	if err != nil {
		return "", "", err
	}
	return accessKeyID, secret, CheckKey(accessKeyID, secret)
}

// CheckKey checks the shape of a long-term key; the error never quotes the
// secret.
func CheckKey(accessKeyID, secret string) error {
	if strings.HasPrefix(accessKeyID, "ASIA") {
		return errors.New("the access key id starts with ASIA: that is a temporary session key, which expires; store the IAM user's long-term key (AKIA…)")
	}
	if !reKeyID.MatchString(accessKeyID) {
		return errors.New("the access key id is not 16 to 128 capital letters and digits (like AKIAIOSFODNN7EXAMPLE)")
	}
	if !reSecret.MatchString(secret) {
		return errors.New("the secret access key must be 8 to 128 printable characters without spaces")
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func parseJSON(text string) (string, string, error) {
	var v struct {
		AccessKey *struct {
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string `json:"SecretAccessKey"`
		} `json:"AccessKey"`
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string `json:"SecretAccessKey"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return "", "", errors.New("the input looks like JSON but does not parse; give the output of `aws iam create-access-key` as it is")
	}
	if v.AccessKey != nil {
		return v.AccessKey.AccessKeyID, v.AccessKey.SecretAccessKey, nil
	}
	if v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return "", "", errors.New("the JSON has no AccessKey.AccessKeyId and AccessKey.SecretAccessKey")
	}
	return v.AccessKeyID, v.SecretAccessKey, nil
}

func parseCSV(text string) (string, string, error) {
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil || len(rows) < 2 {
		return "", "", errors.New("the CSV should have a header and one row, as the IAM console downloads it")
	}
	idCol, secretCol := -1, -1
	for i, h := range rows[0] {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "access key id":
			idCol = i
		case "secret access key":
			secretCol = i
		}
	}
	if idCol < 0 || secretCol < 0 || len(rows[1]) <= max(idCol, secretCol) {
		return "", "", errors.New("the CSV lacks the \"Access key ID\" and \"Secret access key\" columns")
	}
	return strings.TrimSpace(rows[1][idCol]), strings.TrimSpace(rows[1][secretCol]), nil
}
