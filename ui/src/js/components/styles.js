// styles.js: the archive pages bring their own stylesheet (css/archive.css), linked once.
export function ensureArchiveStyles() {
  if (document.getElementById("archive-css")) return;
  const link = document.createElement("link");
  link.id = "archive-css";
  link.rel = "stylesheet";
  link.href = "css/archive.css";
  document.head.append(link);
}
