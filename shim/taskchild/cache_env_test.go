package taskchild

import "testing"

func TestCacheFromEnv(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		wantDir   string
		wantBytes int64
	}{
		{name: "unset", env: nil, wantDir: DefaultCacheDir},
		{name: "set", env: map[string]string{CacheDirEnv: "/tmp/c", CacheMaxBytesEnv: "1048576"}, wantDir: "/tmp/c", wantBytes: 1 << 20},
		{name: "off", env: map[string]string{CacheDirEnv: CacheOff}, wantDir: ""},
		{name: "bad bound means the default", env: map[string]string{CacheMaxBytesEnv: "1G"}, wantDir: DefaultCacheDir},
		{name: "negative bound means the default", env: map[string]string{CacheMaxBytesEnv: "-5"}, wantDir: DefaultCacheDir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, maxBytes := CacheFromEnv(func(k string) string { return tc.env[k] })
			if dir != tc.wantDir || maxBytes != tc.wantBytes {
				t.Fatalf("got %q, %d; want %q, %d", dir, maxBytes, tc.wantDir, tc.wantBytes)
			}
		})
	}
}
