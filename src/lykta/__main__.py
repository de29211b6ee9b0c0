from lykta.cli import main

raise SystemExit(main())
