#!/usr/bin/python3
"""A minimal WebKitGTK browser with a persistent profile, driven by WebKitWebDriver.

Debian's MiniBrowser runs automation sessions in an ephemeral profile, where storing a Blob in
IndexedDB fails and nothing survives a relaunch. This one keeps every kind of website data in
--profile DIR, so a test can quit it and start it again with the same IndexedDB and service
worker registrations. WebKitWebDriver starts it with WEBKIT_INSPECTOR_SERVER set and asks it for
web views through the automation session.

Options:
  --profile DIR          where website data lives (required)
"""
import argparse
import os
import sys

import gi

gi.require_version('Gtk', '3.0')
gi.require_version('WebKit2', '4.1')
from gi.repository import Gtk, WebKit2  # noqa: E402

NAME = 'resilient-upload-webkit'


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--profile', required=True)
    # WebKitWebDriver and MiniBrowser conventions: accepted, nothing to do.
    parser.add_argument('--automation', action='store_true')
    return parser.parse_args()


class Browser:
    def __init__(self, args: argparse.Namespace) -> None:
        profile = os.path.abspath(args.profile)
        os.makedirs(profile, exist_ok=True)
        options = {
            'base_data_directory': os.path.join(profile, 'data'),
            'base_cache_directory': os.path.join(profile, 'cache'),
        }
        self.manager = WebKit2.WebsiteDataManager(**options)
        self.context = WebKit2.WebContext(website_data_manager=self.manager)
        self.context.set_automation_allowed(True)
        self.context.connect('automation-started', self.on_automation)
        self.windows: set[Gtk.Window] = set()

    def on_automation(self, _context: WebKit2.WebContext, session: WebKit2.AutomationSession) -> None:
        info = WebKit2.ApplicationInfo()
        info.set_name(NAME)
        info.set_version(WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version())
        session.set_application_info(info)
        session.connect('create-web-view', lambda _session: self.new_view(None))

    def new_view(self, related: WebKit2.WebView | None) -> WebKit2.WebView:
        settings = WebKit2.Settings()
        # Page console messages go to stdout, which the test harness keeps.
        settings.set_enable_write_console_messages_to_stdout(True)
        settings.set_enable_developer_extras(True)
        options = {'settings': settings, 'is_controlled_by_automation': True}
        if related is not None:
            options['related_view'] = related
        else:
            options['web_context'] = self.context
        view = WebKit2.WebView(**options)
        view.connect('create', lambda v, _action: self.new_view(v))
        view.connect('close', lambda v: v.get_toplevel().destroy())
        window = Gtk.Window()
        window.set_default_size(1280, 800)
        window.add(view)
        window.connect('destroy', self.on_destroy)
        window.show_all()
        self.windows.add(window)
        return view

    def on_destroy(self, window: Gtk.Window) -> None:
        self.windows.discard(window)


def main() -> int:
    args = parse()
    if not os.environ.get('WEBKIT_INSPECTOR_SERVER'):
        print(f'{NAME}: start me through WebKitWebDriver (WEBKIT_INSPECTOR_SERVER is not set)', file=sys.stderr)
        return 2
    Gtk.init(None)
    browser = Browser(args)
    assert browser.context.is_automation_allowed()
    Gtk.main()
    return 0


if __name__ == '__main__':
    sys.exit(main())
