package imds

import "testing"

func TestPlainHTTPAllowed(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST": true,
		"169.254.170.2": true, "169.254.170.23": true, "fd00:ec2::23": true, "[fd00:ec2::23]": true,
		"169.254.169.254": false, "169.254.170.3": false, "10.0.0.1": false, "0.0.0.0": false, "::": false,
		"::ffff:127.0.0.1": false, "fe80::1%lo": false, "example.com": false, "localhost.example": false, "": false,
	} {
		if got := PlainHTTPAllowed(host); got != want {
			t.Errorf("PlainHTTPAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheckContainerURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"http://127.0.0.1:8912/v1/credentials":    true,
		"http://localhost:8912/v1/credentials":    true,
		"http://169.254.170.2/v1/credentials":     true,
		"http://[fd00:ec2::23]:80/v1/credentials": true,
		"https://broker.internal:8912/v1/creds":   true,
		"http://192.168.1.10:8912/v1/credentials": false,
		"http://broker.internal/v1/credentials":   false,
		"ftp://127.0.0.1/v1/credentials":          false,
		"http:///v1/credentials":                  false,
		"://nope":                                 false,
	} {
		if err := CheckContainerURL(u); (err == nil) != ok {
			t.Errorf("CheckContainerURL(%q) = %v, want ok=%v", u, err, ok)
		}
	}
}
