// Before the first paint, the theme chosen in Settings (mirrored by app/storage/settings.ts); the modules run too late for that.
try {
  var theme = localStorage.getItem('wisp.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch (error) {}
