// Entry point of the forked fast server: serves the full register image on a free loopback
// port and tells the parent which one.

import { fullImage, startFastServer } from "./fast-server.js";

const { port } = await startFastServer(fullImage());
process.send?.({ port });

// Do not outlive the bench, even when it dies without stopping us.
process.on("disconnect", () => process.exit(0));
