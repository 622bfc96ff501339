/** The web app manifest, its icons and the service worker are built into the web client's assets. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildWeb } from '../../src/client/web/build.js';
import { loadAssets } from '../../src/server/transport/http.js';

describe('web app manifest and service worker', () => {
  it('are served as static assets with their types, and the manifest names icons that exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-web-'));
    try {
      await buildWeb(dir);
      const assets = await loadAssets(dir);
      assert.equal(assets.get('/sw.js')?.type, 'text/javascript; charset=utf-8');
      const manifest = assets.get('/manifest.webmanifest');
      assert.equal(manifest?.type, 'application/manifest+json');
      const m = JSON.parse((await manifest!.load()).body.toString('utf8')) as { name: string; display: string; start_url: string; icons: { src: string; sizes: string }[] };
      assert.deepEqual([m.name, m.display, m.start_url], ['Parley', 'standalone', '/']);
      for (const icon of m.icons) {
        const asset = assets.get(icon.src);
        assert.equal(asset?.type, 'image/png', icon.src);
        const png = (await asset!.load()).body;
        // The PNG's IHDR width and height match the declared size.
        const [w, h] = icon.sizes.split('x').map(Number);
        assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [w, h], icon.src);
      }
      assert.deepEqual(m.icons.map((i) => i.sizes).sort(), ['192x192', '512x512']);
      const sw = (await assets.get('/sw.js')!.load()).body.toString('utf8');
      assert.match(sw, /showNotification/);
      assert.match(sw, /notificationclick/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
