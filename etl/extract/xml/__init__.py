"""XML feeds: a safe streaming core (``safe.py``), tables of paths (``table.py``), the built-in
dialects (``dialects.py``: Kyero v3, Ubiflow, Trovit; OpenImmo refused) and any XML by XPath
(``generic.py``). See docs/xml-feeds.md."""
