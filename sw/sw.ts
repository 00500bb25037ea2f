/// <reference lib="webworker" />
// Precaches the app shell, serves it for navigations when offline, and waits for the
// person's click (a SKIP_WAITING message) before a new version takes over.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { createStore, set } from 'idb-keyval';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> };

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Every navigation gets the precached shell, so a reload works with the server down.
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [/^\/ws/, /^\/healthz/] }));

// Share target: another app shared files or text to the installed Wisp. Keep them for the
// app (same database as the app's storage/), then open it to choose whom to send them to.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'POST' || url.origin !== self.location.origin || url.pathname !== '/share') return;
  event.respondWith(
    (async () => {
      try {
        const form = await event.request.formData();
        const files = form.getAll('files').filter((f): f is File => f instanceof File);
        const text = [form.get('title'), form.get('text'), form.get('url')].filter((v): v is string => typeof v === 'string' && v !== '').join(' ');
        await set('shared', { files, text }, createStore('wisp', 'kv'));
        return Response.redirect('/?share=1', 303);
      } catch {
        return Response.redirect('/?share=failed', 303);
      }
    })(),
  );
});

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
