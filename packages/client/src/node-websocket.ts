// Node-only: the `ws` package, for Node versions without a global WebSocket. Imported
// dynamically by websocket.ts so bundles for the browser never need it.

import { WebSocket } from "ws";
import type { WebSocketConstructor } from "./websocket.ts";

export const NodeWebSocket: WebSocketConstructor = WebSocket;
