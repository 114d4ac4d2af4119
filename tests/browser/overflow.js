// Evaluated by test_staff_pages.py in each page: a list of what does not fit the viewport.
() => {
  const limit = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > limit) found.push(`page scrolls sideways: ${document.documentElement.scrollWidth} px`);
  for (const el of document.querySelectorAll('main *, header *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.position === 'absolute' && box.width <= 1) continue;  // visually hidden
    if (box.right > limit + 1) found.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${Math.round(box.right)} px`);
    if ((el.tagName === 'TD' || el.tagName === 'TH') && el.innerText.trim().length > 3) {
      if (box.width < 3 * parseFloat(style.fontSize)) found.push(`${el.tagName.toLowerCase()} "${el.innerText.trim().slice(0, 20)}" is ${Math.round(box.width)} px wide`);
    }
  }
  return found.slice(0, 10);
}
