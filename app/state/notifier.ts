// System notifications and the app badge, for whispers and mentions while Wisp is hidden.
export class Notifier {
  constructor(private readonly enabled: () => boolean) {}

  static supported(): boolean {
    return typeof Notification !== 'undefined';
  }

  /** Asks the browser; returns whether notifications may be shown now. */
  static async requestPermission(): Promise<boolean> {
    if (!Notifier.supported()) return false;
    if (Notification.permission === 'granted') return true;
    return (await Notification.requestPermission()) === 'granted';
  }

  notify(title: string, body: string, tab: string): void {
    if (!this.enabled() || document.visibilityState === 'visible') return;
    if (!Notifier.supported() || Notification.permission !== 'granted') return;
    const options: NotificationOptions = { body, tag: tab, data: { tab } };
    void navigator.serviceWorker?.getRegistration().then((registration) => {
      if (registration) return registration.showNotification(title, options);
      new Notification(title, options);
    });
  }

  setBadge(count: number): void {
    const nav = navigator as Navigator & { setAppBadge?: (n: number) => Promise<void>; clearAppBadge?: () => Promise<void> };
    if (count > 0) void nav.setAppBadge?.(count).catch(() => undefined);
    else void nav.clearAppBadge?.().catch(() => undefined);
  }
}
