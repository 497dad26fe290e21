package client_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }
