/** Whether `work` settles (fulfilled or rejected) within `ms`; never waits longer, leaves no timer behind. */
export function settlesWithin(work: Promise<unknown> | ReadonlyArray<Promise<unknown>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const all = Array.isArray(work) ? work : [work as Promise<unknown>];
  return Promise.race([
    Promise.allSettled(all).then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
