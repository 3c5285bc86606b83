// Package docs is the API reference page: an HTML page that renders the
// served OpenAPI document with Redoc, whose standalone bundle is embedded
// here (a copy of node_modules/redoc/bundles/redoc.standalone.js at the
// version package.json pins; a test keeps the two byte-identical).
//
// Only the docs function links this package's bundle: the page is built on
// first use, and nothing but (*api.Server).Docs calls Page.
package docs

import (
	"crypto/sha256"
	_ "embed" // the bundle
	"encoding/base64"
	"strings"
	"sync"
)

// RedocVersion is the version of the embedded bundle (package.json pins it).
const RedocVersion = "2.5.4"

//go:embed redoc.standalone.js
var redocBundle string

// initScript renders the document next to the page: …/docs (or …/docs/)
// reads …/openapi.json, whatever the stage prefix. Search is off: it would
// start a worker from a blob: URL, which the policy does not allow.
//
// Redoc 2 shows its vendor's logo, an image on Redocly's CDN, under the
// sidebar, with no option to leave it out. The page loads nothing from a
// third party (the policy would block the image, and the browser would log
// the violation as an error), so before Redoc starts, an image is never
// given a cross-origin src (through the attribute or the property): it is
// hidden instead.
const initScript = `(function () {
  function foreign(name, value) {
    return String(name).toLowerCase() === "src" && !/^data:/.test(String(value)) &&
      new URL(String(value), location.href).origin !== location.origin;
  }
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && foreign(name, value)) {
      this.hidden = true;
      return;
    }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true, enumerable: src.enumerable, get: src.get,
    set: function (value) {
      if (foreign("src", value)) {
        this.hidden = true;
        return;
      }
      src.set.call(this, value);
    }
  });
  var spec = location.pathname.replace(/\/docs\/?$/, "/openapi.json");
  Redoc.init(spec, {disableSearch: true, expandResponses: "200,201,204"}, document.getElementById("redoc"));
})();`

// page caches the page and its Content-Security-Policy.
var page struct {
	once      sync.Once
	html, csp string
}

// Page returns the HTML page and the Content-Security-Policy it is served
// with. Its two inline scripts (the bundle and initScript) run by hash;
// nothing else may run, and it may fetch only from its own origin.
// Redoc's styles are styled-components, injected as <style> elements at
// run time, so style-src needs 'unsafe-inline' (a hash cannot name them).
func Page() (html, csp string) {
	page.once.Do(func() {
		var b strings.Builder
		b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wallets API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<noscript>This page renders the OpenAPI document (openapi.json) with JavaScript.</noscript>
<div id="redoc"></div>
<script>`)
		b.WriteString(redocBundle)
		b.WriteString("</script>\n<script>")
		b.WriteString(initScript)
		b.WriteString("</script>\n</body>\n</html>\n")
		page.html = b.String()
		page.csp = CSP(redocBundle, initScript)
	})
	return page.html, page.csp
}

// CSP is the page's policy for the given inline scripts.
func CSP(scripts ...string) string {
	src := []string{}
	for _, s := range scripts {
		sum := sha256.Sum256([]byte(s))
		src = append(src, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(src, " "),
		"style-src 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
