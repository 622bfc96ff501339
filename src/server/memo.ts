/**
 * `fn` with a memory of its last call: called again with the same argument (`===`), it
 * returns the same result without running `fn`. For conversions asked for many times in a
 * row with one value, such as the timestamp that every append of one millisecond shares. A
 * call that throws is not remembered.
 */
export function lastCall<A, R>(fn: (arg: A) => R): (arg: A) => R {
  let remembered = false;
  let lastArg: A | undefined;
  let lastResult: R | undefined;
  return (arg) => {
    if (remembered && arg === lastArg) return lastResult as R;
    const result = fn(arg);
    remembered = true;
    lastArg = arg;
    lastResult = result;
    return result;
  };
}
