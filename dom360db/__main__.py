from dom360db.cli import main

main()
