// Before the first paint: the theme chosen in Settings on this device, which
// app/storage/settings.ts mirrors to localStorage under THEME_STORAGE_KEY. A classic script
// in <head> runs before anything is drawn; the app's modules may run a frame or two later,
// showing the other theme first. System needs nothing: app/styles/page.css follows the system.
try {
  var theme = localStorage.getItem('wisp.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch (error) {
  // Storage blocked: the app applies the theme from IndexedDB once its settings load.
}
