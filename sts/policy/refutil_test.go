package policy

import "encoding/base64"

func refBase64Equal(a, b string) bool {
	x, err1 := base64.StdEncoding.DecodeString(a)
	y, err2 := base64.StdEncoding.DecodeString(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
