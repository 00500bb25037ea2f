// Every date and time the app shows, in the browser's locale (one place, so a ban, a
// list of bans and a message's time never read in three different formats).
let locale: string | undefined;
let timeZone: string | undefined;
let clock: Intl.DateTimeFormat | undefined;
let dateTime: Intl.DateTimeFormat | undefined;

/** Tests pin a locale and time zone; undefined is the browser's own. */
export function setTimeLocale(next: string | undefined, zone?: string): void {
  locale = next;
  timeZone = zone;
  clock = dateTime = undefined;
}

/** A message's time of day: "13:05" or "1:05 PM". */
export function formatClock(ms: number): string {
  clock ??= new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone });
  return clock.format(ms);
}

/** A date and time, with the time zone so a ban's end is not misread: "Dec 2, 2026, 01:05 PM UTC". */
export function formatDateTime(ms: number): string {
  dateTime ??= new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short', timeZone });
  return dateTime.format(ms);
}
