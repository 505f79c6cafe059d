from cc.cli import main

main()
