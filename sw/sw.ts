/// <reference lib="webworker" />
// Precaches the app shell, serves it for navigations when offline, and waits for the
// person's click (a SKIP_WAITING message) before a new version takes over.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> };

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Every navigation gets the precached shell, so a reload works with the server down.
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [/^\/ws/, /^\/healthz/] }));

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') void self.skipWaiting();
});

// A whisper or mention notification was clicked: show that conversation.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const tab = (event.notification.data as { tab?: string } | undefined)?.tab ?? '';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const client = windows[0];
      if (client) {
        await client.focus();
        client.postMessage({ type: 'open-tab', tab });
        return;
      }
      await self.clients.openWindow(`/?open=${encodeURIComponent(tab)}`);
    })(),
  );
});
