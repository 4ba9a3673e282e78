// A synthetic population of users for benchmarks, defined by a rule rather than stored, so that the
// fake Synapse (which serves it) and the benchmark (which writes a users file about it) agree on
// every user without passing a million of them around.
//
//   user i (0 ≤ i < count): @user-<i, 7 digits>:<server>, displayname "User <i>";
//   every `deactivatedEvery`-th user (i % deactivatedEvery === deactivatedEvery - 1) is deactivated.

export interface Population {
  count: number;
  /** 0 for none. */
  deactivatedEvery: number;
}

export function localpartOf(i: number): string {
  return `user-${String(i).padStart(7, "0")}`;
}

export function displaynameOf(i: number): string {
  return `User ${String(i).padStart(7, "0")}`;
}

export function isDeactivated(population: Population, i: number): boolean {
  return population.deactivatedEvery > 0 && i % population.deactivatedEvery === population.deactivatedEvery - 1;
}
