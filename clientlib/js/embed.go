// Package js embeds wsticket's browser client (wsticket.js and its
// TypeScript declarations) so Go servers can serve it, as ticketd's demo
// does. JavaScript users install the npm package or copy wsticket.js.
package js

import "embed"

// FS holds wsticket.js and wsticket.d.ts.
//
//go:embed wsticket.js wsticket.d.ts
var FS embed.FS
