// selenium-webdriver has no "exports" map, so Node's ESM loader needs the file path, which its
// types (@types/selenium-webdriver) do not name; they also omit WebDriver.createSession.
declare module 'selenium-webdriver/http/index.js' {
  export class HttpClient {
    constructor(serverUrl: string);
  }
  export class Executor {
    constructor(client: HttpClient);
  }
}
