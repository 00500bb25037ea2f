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
  clock = dateTime = dayOf = dayThisYear = dayOtherYear = undefined;
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

let dayOf: Intl.DateTimeFormat | undefined;
let dayThisYear: Intl.DateTimeFormat | undefined;
let dayOtherYear: Intl.DateTimeFormat | undefined;

/** The local calendar day of a time, "2026-12-03": two lines share a day when their keys match. */
export function dayKey(ms: number): string {
  dayOf ??= new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone });
  return dayOf.format(ms);
}

/** The day before a day key, by the calendar (a 23- or 25-hour day cannot skip or repeat one). */
function dayBefore(key: string): string {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** A day separator's label: "Today", "Yesterday", else the date ("Tuesday, December 1", with the year when it is not this one's). */
export function formatDay(ms: number, now: number): string {
  const day = dayKey(ms);
  const today = dayKey(now);
  if (day === today) return 'Today';
  if (day === dayBefore(today)) return 'Yesterday';
  return day.slice(0, 4) === today.slice(0, 4)
    ? (dayThisYear ??= new Intl.DateTimeFormat(locale, { weekday: 'long', month: 'long', day: 'numeric', timeZone })).format(ms)
    : (dayOtherYear ??= new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', timeZone })).format(ms);
}
