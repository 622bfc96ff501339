/** `npm run build:web`: builds the browser client into dist/web. */
import { buildWeb, WEB_OUT } from '../src/client/web/build.js';

await buildWeb();
console.log(`web client built in ${WEB_OUT}`);
