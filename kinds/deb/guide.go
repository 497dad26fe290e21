package deb

// ClientAccess gives apt the distribution's sources line
// (content.ClientGuide). The suite and components are the distribution's
// settings, which this hook is not given: the line names them.
func (Kind) ClientAccess(contentURL, _ string) (string, []string) {
	url := contentURL
	if n := len(url); n > 1 && url[n-1] == '/' {
		url = url[:n-1]
	}
	return url, []string{
		"deb [signed-by=/path/to/KEY.gpg] " + url + " SUITE COMPONENT",
		"pkgvc key export KEY | gpg --dearmor > /path/to/KEY.gpg",
	}
}
