package ticketd

import (
	"errors"
	"testing"
)

func TestVersionSupported(t *testing.T) {
	for version, ok := range map[string]bool{
		"7.0.15": true, "6.2.0": true, "6.2.14": true, "8.0.1": true, "10.0.0": true,
		"6.0.16": false, "6.1.9": false, "5.0.7": false, "4.0.14": false,
	} {
		info := "# Server\r\nredis_git_sha1:00000000\r\nredis_version:" + version + "\r\nredis_mode:standalone\r\n"
		err := versionSupported(info)
		if ok != (err == nil) || !ok && !errors.Is(err, errRedisTooOld) {
			t.Errorf("redis %s: %v", version, err)
		}
	}
}
