// The Node flags `npm start` runs the server with; parsed from package.json in scripts/.
export { SERVER_NODE_FLAGS } from '../../scripts/server-node-flags.mjs';
