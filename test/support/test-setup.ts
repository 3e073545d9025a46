// The shape of scripts/test-setup.mjs (npm's pretest) as the tests that need its system packages import it.

export interface TestSetup {
  /** The Python interpreter the setup checked and the Python tests must run. */
  PYTHON: string;
  /** Debian's Chromium, which the console's browser test drives. */
  CHROMIUM: string;
  TEST_PACKAGES: Array<{ pkg: string; present(): boolean }>;
  /** The skip reason for a missing package, naming the setup that installs it. */
  missingReason(pkg: string): string;
}
